//! The chat flow through `ChatService` on the in-memory backends, with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use chatcore::{
    AgentRole, AnalyticsWindow, BotExplanation, ChatConfig, ChatService, ClosedBy, Delivery, Error,
    EscalationReason, Event, Intent, ManualClock, MemoryFanout, MemoryStore, Message, NewAgent,
    NewRule, OpenRoom, RoomStatus, Sender, SystemEvent, Timestamp,
};

const START: Timestamp = Timestamp(1_893_456_000_000);

struct Harness {
    chat: ChatService,
    clock: ManualClock,
}

async fn harness_with(config: ChatConfig, fanout: MemoryFanout) -> Harness {
    let clock = ManualClock::new(START);
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(fanout))
        .clock(Arc::new(clock.clone()))
        .config(config)
        .build();
    assert!(chat.seed_default_rules().await.unwrap());
    Harness { chat, clock }
}

async fn harness() -> Harness {
    harness_with(ChatConfig::default(), MemoryFanout::new()).await
}

fn intent_of(message: &Message) -> Option<&str> {
    match &message.explanation {
        Some(BotExplanation::Matched(why)) => Some(why.intent.as_str()),
        _ => None,
    }
}

async fn staff(chat: &ChatService, name: &str) -> chatcore::Agent {
    chat.create_agent(NewAgent::new(name, name, AgentRole::Staff, "hash"))
        .await
        .unwrap()
}

#[tokio::test]
async fn welcome_is_posted_once_and_seqs_follow() {
    let h = harness().await;
    let (room, opening) = h
        .chat
        .open_room(OpenRoom::anonymous().language("en"))
        .await
        .unwrap();
    assert_eq!(opening.len(), 1);
    assert_eq!(opening[0].explanation, Some(BotExplanation::Welcome));
    assert_eq!(
        opening[0].text,
        h.chat.config().texts_for(Some("en")).welcome
    );
    assert_eq!(
        (room.status, room.last_seq, room.language.as_deref()),
        (RoomStatus::Bot, 1, Some("en"))
    );
    let turn = h
        .chat
        .post_visitor_message(room.id, "Hello", Some("c1"))
        .await
        .unwrap();
    assert_eq!(turn.message.seq, 2);
    assert_eq!(turn.message.client_id.as_deref(), Some("c1"));
    let reply = turn.bot_reply.unwrap();
    assert_eq!(
        (reply.seq, reply.sender, intent_of(&reply)),
        (3, Sender::Bot, Some("greeting"))
    );
    let history = h.chat.history(room.id, 0, 100).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|m| m.explanation == Some(BotExplanation::Welcome))
            .count(),
        1
    );
}

#[tokio::test]
async fn bad_text_is_rejected_and_nothing_is_stored() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let limit = "é".repeat(1000);
    let over = "é".repeat(1001);
    let cases: Vec<(&str, &str)> = vec![
        ("", "empty"),
        ("   \n\t ", "empty"),
        (&over, "too_long"),
        ("nul\u{0}byte", "invalid_text"),
        ("bell\u{7}", "invalid_text"),
        ("escape \u{1b}[31m red", "invalid_text"),
        ("rtl \u{202E}txt.exe", "invalid_text"),
        ("isolate \u{2066}x\u{2069}", "invalid_text"),
    ];
    for (text, code) in cases {
        let err = h
            .chat
            .post_visitor_message(room.id, text, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{text:?}: {err}");
    }
    let err = h
        .chat
        .post_visitor_message(room.id, "ok", Some(&"x".repeat(65)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert_eq!(
        h.chat.room(room.id).await.unwrap().last_seq,
        1,
        "nothing stored"
    );
    // Exactly at the limit (in characters, not bytes) is fine, as are tabs and newlines.
    h.chat
        .post_visitor_message(room.id, &limit, None)
        .await
        .unwrap();
    h.chat
        .post_visitor_message(room.id, "two\nlines\tand a tab", None)
        .await
        .unwrap();
    let err = h
        .chat
        .post_visitor_message(chatcore::RoomId::random(), "hi", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
}

#[tokio::test]
async fn escalation_intent_hands_over_and_the_bot_goes_silent() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let turn = h
        .chat
        .post_visitor_message(room.id, "Can I talk to a real person?", None)
        .await
        .unwrap();
    assert_eq!(
        intent_of(turn.bot_reply.as_ref().unwrap()),
        Some("escalation")
    );
    let escalation = turn.escalation.unwrap();
    assert_eq!(
        escalation.event,
        Some(SystemEvent::EscalationRequested {
            reason: EscalationReason::EscalationIntent
        })
    );
    assert_eq!(turn.room.status, RoomStatus::WaitingForAgent);
    assert_eq!(h.chat.queue_position(room.id).await.unwrap(), Some(1));
    let silent = h
        .chat
        .post_visitor_message(room.id, "hello? how much is a car?", None)
        .await
        .unwrap();
    assert!(silent.bot_reply.is_none() && silent.escalation.is_none());
    // Asking again while waiting changes nothing.
    let again = h.chat.request_escalation(room.id).await.unwrap();
    assert_eq!(
        (again.status, again.last_seq),
        (RoomStatus::WaitingForAgent, silent.room.last_seq)
    );
}

#[tokio::test]
async fn explicit_request_escalates_without_a_bot_reply() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let room = h.chat.request_escalation(room.id).await.unwrap();
    assert_eq!(room.status, RoomStatus::WaitingForAgent);
    let history = h.chat.history(room.id, 0, 10).await.unwrap();
    assert_eq!(
        history.last().unwrap().event,
        Some(SystemEvent::EscalationRequested {
            reason: EscalationReason::Requested
        })
    );
}

#[tokio::test]
async fn consecutive_fallbacks_escalate_but_interrupted_streaks_do_not() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let first = h
        .chat
        .post_visitor_message(room.id, "qwerty", None)
        .await
        .unwrap();
    assert_eq!(
        first.bot_reply.unwrap().explanation,
        Some(BotExplanation::Fallback)
    );
    assert!(first.escalation.is_none(), "one fallback is not enough");
    let matched = h
        .chat
        .post_visitor_message(room.id, "what does it cost", None)
        .await
        .unwrap();
    assert_eq!(
        intent_of(matched.bot_reply.as_ref().unwrap()),
        Some("pricing")
    );
    let second = h
        .chat
        .post_visitor_message(room.id, "asdf", None)
        .await
        .unwrap();
    assert!(
        second.escalation.is_none(),
        "the streak restarted after a match"
    );
    let third = h
        .chat
        .post_visitor_message(room.id, "zxcv", None)
        .await
        .unwrap();
    assert_eq!(
        third.bot_reply.unwrap().explanation,
        Some(BotExplanation::Fallback)
    );
    assert_eq!(
        third.escalation.unwrap().event,
        Some(SystemEvent::EscalationRequested {
            reason: EscalationReason::RepeatedFallback
        })
    );
    assert_eq!(third.room.status, RoomStatus::WaitingForAgent);
}

#[tokio::test]
async fn many_messages_never_escalate_by_count_alone() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    for _ in 0..30 {
        let turn = h
            .chat
            .post_visitor_message(room.id, "how much is an SUV", None)
            .await
            .unwrap();
        assert_eq!(turn.room.status, RoomStatus::Bot);
    }
}

#[tokio::test]
async fn fallback_escalation_can_be_switched_off() {
    let h = harness_with(
        ChatConfig::default().fallbacks_before_escalation(0),
        MemoryFanout::new(),
    )
    .await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    for _ in 0..5 {
        let turn = h
            .chat
            .post_visitor_message(room.id, "qwerty", None)
            .await
            .unwrap();
        assert_eq!(turn.room.status, RoomStatus::Bot);
    }
}

#[tokio::test]
async fn agent_flow_accept_reply_close_rate() {
    let h = harness().await;
    let (room, _) = h
        .chat
        .open_room(OpenRoom::customer("cust-9"))
        .await
        .unwrap();
    let ana = staff(&h.chat, "ana").await;
    let err = h.chat.accept(room.id, ana.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Conflict {
                actual: RoomStatus::Bot,
                ..
            }
        ),
        "{err:?}"
    );
    let err = h
        .chat
        .post_agent_message(room.id, ana.id, "hi", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");

    h.chat.request_escalation(room.id).await.unwrap();
    h.clock.advance(Duration::from_secs(30));
    let accepted = h.chat.accept(room.id, ana.id).await.unwrap();
    assert_eq!(
        (accepted.status, accepted.agent),
        (RoomStatus::WithAgent, Some(ana.id))
    );
    h.clock.advance(Duration::from_secs(15));
    let reply = h
        .chat
        .post_agent_message(room.id, ana.id, "Hi, Ana here.", Some("a1"))
        .await
        .unwrap();
    assert_eq!(reply.message.sender, Sender::Agent(ana.id));
    let resent = h
        .chat
        .post_agent_message(room.id, ana.id, "Hi, Ana here.", Some("a1"))
        .await
        .unwrap();
    assert!(resent.duplicate);
    let turn = h
        .chat
        .post_visitor_message(room.id, "great, how much is it?", None)
        .await
        .unwrap();
    assert!(turn.bot_reply.is_none(), "no bot while the agent talks");

    let bob = staff(&h.chat, "bob").await;
    let err = h
        .chat
        .post_agent_message(room.id, bob.id, "me too", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)));

    let err = h.chat.rate(room.id, 5).await.unwrap_err();
    assert!(matches!(err, Error::NotClosed(_)));
    let closed = h
        .chat
        .close(room.id, ClosedBy::Agent(ana.id))
        .await
        .unwrap();
    assert_eq!(closed.status, RoomStatus::Closed);
    let err = h.chat.close(room.id, ClosedBy::Visitor).await.unwrap_err();
    assert!(matches!(err, Error::RoomClosed(_)));
    let err = h
        .chat
        .post_agent_message(room.id, ana.id, "bye", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RoomClosed(_)));
    for bad in [0, 6, 255] {
        let err = h.chat.rate(room.id, bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRating { .. }), "{bad}");
    }
    let rated = h.chat.rate(room.id, 4).await.unwrap();
    assert_eq!(rated.rating.map(|r| r.get()), Some(4));
    assert!(matches!(
        h.chat.rate(room.id, 5).await.unwrap_err(),
        Error::AlreadyRated(_)
    ));

    let now = h.chat.now();
    let figures = h
        .chat
        .analytics(AnalyticsWindow::last_days(now, 7))
        .await
        .unwrap();
    assert_eq!(figures.total_sessions, 1);
    assert_eq!(figures.closed_sessions, 1);
    assert_eq!(figures.bot_resolution_rate, Some(0.0));
    assert_eq!(figures.average_first_reply_secs, Some(45.0));
    assert_eq!(figures.average_rating, Some(4.0));
}

#[tokio::test]
async fn disabled_or_unknown_agents_cannot_act() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    h.chat.request_escalation(room.id).await.unwrap();
    let carl = staff(&h.chat, "carl").await;
    h.chat
        .update_agent(
            carl.id,
            NewAgent::new("carl", "Carl", AgentRole::Staff, "hash").active(false),
        )
        .await
        .unwrap();
    assert!(matches!(
        h.chat.accept(room.id, carl.id).await.unwrap_err(),
        Error::Forbidden(_)
    ));
    assert!(matches!(
        h.chat
            .close(room.id, ClosedBy::Agent(carl.id))
            .await
            .unwrap_err(),
        Error::Forbidden(_)
    ));
    let err = h
        .chat
        .accept(room.id, chatcore::AgentId(999))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { kind: "agent", .. }));
    assert_eq!(
        h.chat.room(room.id).await.unwrap().status,
        RoomStatus::WaitingForAgent
    );
    let err = h
        .chat
        .create_agent(NewAgent::new("bad name!", "x", AgentRole::Staff, "h"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidAgent { .. }));
}

#[tokio::test]
async fn idle_rooms_are_closed_by_the_sweep() {
    let h = harness().await;
    let (idle, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let (busy, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let (waiting, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    h.chat.request_escalation(waiting.id).await.unwrap();
    h.clock.advance(Duration::from_secs(3000));
    h.chat
        .post_visitor_message(busy.id, "still here", None)
        .await
        .unwrap();
    h.clock.advance(Duration::from_secs(601));
    assert!(h.chat.close_idle_rooms().await.unwrap().len() == 2);
    let idle = h.chat.room(idle.id).await.unwrap();
    assert_eq!(
        (idle.status, idle.closed_by),
        (RoomStatus::Closed, Some(ClosedBy::IdleTimeout))
    );
    assert_eq!(
        h.chat.room(waiting.id).await.unwrap().status,
        RoomStatus::Closed
    );
    assert_eq!(h.chat.room(busy.id).await.unwrap().status, RoomStatus::Bot);
    assert!(
        h.chat.close_idle_rooms().await.unwrap().is_empty(),
        "nothing left to close"
    );
}

#[tokio::test]
async fn rule_edits_apply_to_the_next_message_on_every_instance() {
    let store = Arc::new(MemoryStore::new());
    let a = ChatService::new(store.clone(), Arc::new(MemoryFanout::new()));
    let b = ChatService::new(store, Arc::new(MemoryFanout::new()));
    a.seed_default_rules().await.unwrap();
    assert!(
        !b.seed_default_rules().await.unwrap(),
        "seeding happens once"
    );
    let (room, _) = b.open_room(OpenRoom::anonymous()).await.unwrap();
    let before = b
        .post_visitor_message(room.id, "my tyre is flat", None)
        .await
        .unwrap();
    assert_eq!(
        before.bot_reply.unwrap().explanation,
        Some(BotExplanation::Fallback)
    );

    let roadside = Intent::new("roadside").unwrap();
    let rule = a
        .create_rule(NewRule::new(
            roadside,
            ["flat", "tyre", "tire"],
            "Call roadside: +1 555 0199.",
            90,
        ))
        .await
        .unwrap();
    let after = b
        .post_visitor_message(room.id, "my tyre is flat", None)
        .await
        .unwrap();
    assert_eq!(
        intent_of(after.bot_reply.as_ref().unwrap()),
        Some("roadside"),
        "B sees A's new rule"
    );

    a.set_rule_active(rule.id, false).await.unwrap();
    let off = b
        .post_visitor_message(room.id, "my tyre is flat again", None)
        .await
        .unwrap();
    assert_ne!(intent_of(off.bot_reply.as_ref().unwrap()), Some("roadside"));
    a.delete_rule(rule.id).await.unwrap();
    assert!(matches!(
        a.delete_rule(rule.id).await.unwrap_err(),
        Error::NotFound { .. }
    ));

    // All rules deleted on purpose: no reseeding.
    a.replace_rules(vec![]).await.unwrap();
    assert!(!a.seed_default_rules().await.unwrap());
    assert!(b.explain("hello").await.unwrap().is_none());
}

#[tokio::test]
async fn invalid_rules_change_nothing() {
    let h = harness().await;
    let before = h.chat.rules().await.unwrap();
    let pricing = Intent::new("pricing").unwrap();
    let good = NewRule::new(pricing.clone(), ["fare"], "ok", 1);
    let cases = vec![
        NewRule::new(pricing.clone(), Vec::<String>::new(), "no keywords", 1),
        NewRule::new(pricing.clone(), ["  ", ""], "blank keywords", 1),
        NewRule::new(pricing.clone(), ["!!!"], "symbols only", 1),
        NewRule::new(pricing.clone(), ["fare"], "   ", 1),
        NewRule::new(pricing.clone(), ["fare"], "ok", 2_000_000),
        NewRule::new(pricing.clone(), ["fare"], "ok", 1).language("not a tag!"),
    ];
    for rule in cases {
        let err = h.chat.create_rule(rule.clone()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidRule { .. }),
            "{rule:?}: {err:?}"
        );
        let err = h
            .chat
            .replace_rules(vec![good.clone(), rule])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("rule #2"),
            "import names the bad rule: {err}"
        );
    }
    assert!(Intent::new("has space").is_err());
    assert!(Intent::new("").is_err());
    assert_eq!(h.chat.rules().await.unwrap(), before, "nothing changed");
}

#[tokio::test]
async fn explain_shows_the_winning_rule_before_saving() {
    let h = harness().await;
    let found = h
        .chat
        .explain("How much does it cost to rent a sedan?")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.intent.as_str(), "pricing");
    assert_eq!(found.keyword, "how much");
    assert_eq!(found.span, 0..8);
    let mut proposed = h.chat.rules().await.unwrap().rules;
    proposed.retain(|r| r.intent.as_str() != "pricing");
    let without = h
        .chat
        .explain_with(&proposed, "How much does it cost to rent a sedan?")
        .unwrap()
        .unwrap();
    assert_eq!(without.intent.as_str(), "booking_inquiry");
    assert_eq!(
        h.chat.rules().await.unwrap().rules.len(),
        chatcore::default_rules().len(),
        "explain_with stores nothing"
    );
}

#[tokio::test]
async fn room_feed_resumes_exactly_and_survives_lag() {
    // A tiny fanout buffer makes the subscriber lag for real.
    let h = harness_with(ChatConfig::default(), MemoryFanout::with_capacity(2)).await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    for i in 0..5 {
        h.chat
            .post_visitor_message(room.id, &format!("hello {i}"), None)
            .await
            .unwrap();
    }
    // Resume after seq 4: exactly 5..=11 from the store, then live events.
    let mut feed = h.chat.follow_room(room.id, 4).await.unwrap();
    for i in 5..=15 {
        h.chat
            .post_visitor_message(room.id, &format!("more {i}"), None)
            .await
            .unwrap();
    }
    let last = h.chat.room(room.id).await.unwrap().last_seq;
    let mut seen = Vec::new();
    while seen.last() != Some(&last) {
        match tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .unwrap()
            .unwrap()
        {
            Some(Event::Message { message }) => seen.push(message.seq),
            Some(_) => {}
            None => panic!("feed ended"),
        }
    }
    assert_eq!(seen, (5..=last).collect::<Vec<_>>(), "no gap, no duplicate");
    assert_eq!(feed.last_seq(), last);
}

#[tokio::test]
async fn agents_feed_announces_escalations_and_messages_of_agent_rooms() {
    let h = harness().await;
    let mut feed = h.chat.follow_agents().await.unwrap();
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    h.chat
        .post_visitor_message(room.id, "hello", None)
        .await
        .unwrap();
    h.chat.request_escalation(room.id).await.unwrap();
    h.chat
        .post_visitor_message(room.id, "are you there?", None)
        .await
        .unwrap();
    h.chat.typing(room.id, Sender::Visitor).await.unwrap();
    let mut kinds = Vec::new();
    while let Some(Delivery::Event(event)) = feed.try_recv() {
        kinds.push(match std::sync::Arc::unwrap_or_clone(event) {
            Event::RoomChanged { room } => format!("room:{}", room.status),
            Event::Message { message } => format!("message:{}", message.text),
            Event::Typing { .. } => "typing".into(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        kinds,
        [
            "room:bot",
            "room:waiting_for_agent",
            "message:are you there?"
        ],
        "bot chatter and typing stay off the agents' feed"
    );
}

#[tokio::test]
async fn concurrent_visitors_get_their_own_gapless_rooms() {
    let h = harness().await;
    let mut tasks = Vec::new();
    for v in 0..20 {
        let chat = h.chat.clone();
        tasks.push(tokio::spawn(async move {
            let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
            for i in 0..10 {
                chat.post_visitor_message(room.id, &format!("visitor {v} asks price {i}"), None)
                    .await
                    .unwrap();
            }
            room.id
        }));
    }
    for task in tasks {
        let room = task.await.unwrap();
        let history = h.chat.history(room, 0, 1000).await.unwrap();
        assert_eq!(history.len(), 21);
        assert!(history
            .iter()
            .enumerate()
            .all(|(i, m)| m.seq == i as u64 + 1));
        assert!(history.iter().all(|m| m.room_id == room));
    }
}

/// A matcher factory that fails its first `failures` builds: a store or matcher failure after the
/// visitor's message was stored.
#[derive(Debug)]
struct FlakyFactory(std::sync::atomic::AtomicU32);

impl chatcore::MatcherFactory for FlakyFactory {
    fn build(&self, rules: &chatcore::RuleSet) -> chatcore::Result<Arc<dyn chatcore::BotMatcher>> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            return Err(Error::InvalidRule {
                reason: "simulated failure".into(),
            });
        }
        chatcore::KeywordMatcherFactory.build(rules)
    }
}

#[tokio::test]
async fn a_resend_after_a_failed_answer_is_answered_once() {
    let store = Arc::new(MemoryStore::new());
    let chat = ChatService::builder(store, Arc::new(MemoryFanout::new()))
        .matcher_factory(Arc::new(FlakyFactory(1.into())))
        .build();
    chat.seed_default_rules().await.unwrap();
    let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let err = chat
        .post_visitor_message(room.id, "I want to speak to a human", Some("m1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_rule");
    assert_eq!(
        chat.room(room.id).await.unwrap().last_seq,
        2,
        "the visitor's message is stored"
    );

    let retry = chat
        .post_visitor_message(room.id, "I want to speak to a human", Some("m1"))
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.message.seq, 2);
    assert_eq!(
        intent_of(retry.bot_reply.as_ref().unwrap()),
        Some("escalation")
    );
    assert_eq!(
        retry.room.status,
        RoomStatus::WaitingForAgent,
        "and the escalation happens"
    );

    let again = chat
        .post_visitor_message(room.id, "I want to speak to a human", Some("m1"))
        .await
        .unwrap();
    assert!(
        again.duplicate && again.bot_reply.is_none(),
        "answered once only"
    );
    assert_eq!(chat.history(room.id, 0, 100).await.unwrap().len(), 4);
}

#[tokio::test]
async fn resuming_past_the_last_message_is_refused() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let err = h.chat.follow_room(room.id, 50).await.unwrap_err();
    assert_eq!(err.code(), "invalid_request", "{err}");
    assert!(
        h.chat.follow_room(room.id, 1).await.is_ok(),
        "resuming at the last seq is fine"
    );
    let err = h
        .chat
        .follow_room(chatcore::RoomId::random(), 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[tokio::test]
async fn invisible_only_text_is_empty_and_usernames_ignore_case() {
    let h = harness().await;
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    let err = h
        .chat
        .post_visitor_message(room.id, "\u{200B}\u{FEFF} \u{2060}", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Empty), "{err:?}");
    let ana = staff(&h.chat, "Ana.Lopez").await;
    assert_eq!(ana.username, "ana.lopez");
    assert_eq!(
        h.chat
            .find_agent(" ANA.lopez ")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(ana.id)
    );
    let err = h
        .chat
        .create_agent(NewAgent::new("ana.LOPEZ", "x", AgentRole::Staff, "h"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }));
}

#[tokio::test]
async fn room_events_never_carry_the_visitor_credential() {
    let h = harness().await;
    let mut agents = h.chat.follow_agents().await.unwrap();
    let (room, _) = h
        .chat
        .open_room(OpenRoom::anonymous().credential(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        room.visitor_credential.as_deref(),
        Some(&[1u8, 2, 3][..]),
        "the store keeps it"
    );
    h.chat.request_escalation(room.id).await.unwrap();
    let mut seen = 0;
    while let Some(Delivery::Event(event)) = agents.try_recv() {
        if let Event::RoomChanged { room } = &*event {
            assert_eq!(room.visitor_credential, None);
            seen += 1;
        }
    }
    assert_eq!(seen, 2);
}

#[tokio::test]
async fn queue_estimate_is_the_recent_head_of_queue_wait_per_place() {
    let h = harness().await;
    let agent = staff(&h.chat, "sam").await;
    let open = || async { h.chat.open_room(OpenRoom::anonymous()).await.unwrap().0 };

    // Nobody accepted lately: a position, but no honest estimate.
    let first = open().await;
    h.chat.request_escalation(first.id).await.unwrap();
    let estimate = h.chat.queue_estimate(first.id).await.unwrap().unwrap();
    assert_eq!((estimate.position, estimate.expected_wait_secs), (1, None));

    // The first room waited 120 s; the next two queue up. Number 2 expects two places' worth.
    h.clock.advance(Duration::from_secs(120));
    h.chat.accept(first.id, agent.id).await.unwrap();
    let second = open().await;
    let third = open().await;
    h.chat.request_escalation(second.id).await.unwrap();
    h.clock.advance(Duration::from_secs(1));
    h.chat.request_escalation(third.id).await.unwrap();
    let estimate = h.chat.queue_estimate(third.id).await.unwrap().unwrap();
    assert_eq!(
        (estimate.position, estimate.expected_wait_secs),
        (2, Some(240))
    );

    // The second is taken 30 s after the first: the head waited 30 s this time, (120 + 30) / 2 per
    // place now, and the third is at the head.
    h.clock.advance(Duration::from_secs(29));
    h.chat.accept(second.id, agent.id).await.unwrap();
    let estimate = h.chat.queue_estimate(third.id).await.unwrap().unwrap();
    assert_eq!(
        (estimate.position, estimate.expected_wait_secs),
        (1, Some(75))
    );

    // A quiet spell: a room escalated long after the last acceptance and taken 10 s later waited
    // 10 s, not the hour the agents sat idle.
    h.clock.advance(Duration::from_secs(50 * 60));
    h.chat.accept(third.id, agent.id).await.unwrap();
    let fourth = open().await;
    h.chat.request_escalation(fourth.id).await.unwrap();
    h.clock.advance(Duration::from_secs(10));
    h.chat.accept(fourth.id, agent.id).await.unwrap();
    let fifth = open().await;
    h.chat.request_escalation(fifth.id).await.unwrap();
    let estimate = h.chat.queue_estimate(fifth.id).await.unwrap().unwrap();
    // All four are within the hour: 120 s, 30 s, the third (waited 50 min 30 s, but at the head only
    // since the second's acceptance: 50 min) and the fourth (10 s).
    assert_eq!(
        estimate.expected_wait_secs,
        Some((120 + 30 + 3000 + 10) / 4)
    );

    // An hour later nothing recent is left to go by.
    h.clock.advance(Duration::from_secs(3601));
    let estimate = h.chat.queue_estimate(fifth.id).await.unwrap().unwrap();
    assert_eq!(estimate.expected_wait_secs, None);

    // Rooms not waiting have no place in the queue.
    assert_eq!(h.chat.queue_estimate(first.id).await.unwrap(), None);
}

#[tokio::test]
async fn explain_draft_tries_an_unsaved_edit_or_new_rule() {
    let h = harness().await;
    let question = "My car has a flat tyre, how much is a tow?";
    let saved = h.chat.explain(question).await.unwrap().unwrap();
    let rules_before = h.chat.rules().await.unwrap();

    // A new rule that outranks everything wins, under an id no stored rule has.
    let draft = NewRule::new(
        Intent::new("roadside").unwrap(),
        ["flat tyre", "tow"],
        "Call roadside.",
        1000,
    );
    let (found, draft_id) = h
        .chat
        .explain_draft(draft.clone(), None, question)
        .await
        .unwrap();
    let found = found.unwrap();
    let max_id = rules_before.rules.iter().map(|r| r.id.0).max().unwrap();
    assert_eq!(
        (
            found.intent.as_str(),
            found.keyword.as_str(),
            found.rule_id.0
        ),
        ("roadside", "flat tyre", max_id + 1)
    );
    assert_eq!(draft_id, found.rule_id);

    // Editing the saved winner so it no longer matches hands the message to another rule.
    let winner = rules_before
        .rules
        .iter()
        .find(|r| r.id == saved.rule_id)
        .unwrap();
    let edited = NewRule::new(winner.intent.clone(), ["zzz"], winner.response.clone(), 1);
    let (other, draft_id) = h
        .chat
        .explain_draft(edited, Some(saved.rule_id), question)
        .await
        .unwrap();
    assert_eq!(draft_id, saved.rule_id);
    assert_ne!(other.unwrap().rule_id, saved.rule_id);

    // Bad drafts and unknown rules are typed errors; nothing is ever stored.
    let bad = NewRule::new(
        Intent::new("roadside").unwrap(),
        Vec::<String>::new(),
        "x",
        1,
    );
    assert!(matches!(
        h.chat.explain_draft(bad, None, question).await,
        Err(Error::InvalidRule { .. })
    ));
    assert!(matches!(
        h.chat
            .explain_draft(draft, Some(chatcore::RuleId(9_999)), question)
            .await,
        Err(Error::NotFound { kind: "rule", .. })
    ));
    assert_eq!(h.chat.rules().await.unwrap(), rules_before);
}

#[tokio::test]
async fn only_the_assigned_agent_or_a_superuser_closes_a_conversation() {
    let h = harness().await;
    let owner = staff(&h.chat, "ana").await;
    let colleague = staff(&h.chat, "bob").await;
    let boss = h
        .chat
        .create_agent(NewAgent::new("root", "Root", AgentRole::Superuser, "hash"))
        .await
        .unwrap();
    let (room, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    h.chat.request_escalation(room.id).await.unwrap();
    h.chat.accept(room.id, owner.id).await.unwrap();
    assert!(matches!(
        h.chat.close(room.id, ClosedBy::Agent(colleague.id)).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        h.chat.room(room.id).await.unwrap().status,
        RoomStatus::WithAgent
    );
    h.chat
        .close(room.id, ClosedBy::Agent(boss.id))
        .await
        .unwrap();

    // Rooms nobody took yet may be closed by any staff member (spam, duplicates).
    let (waiting, _) = h.chat.open_room(OpenRoom::anonymous()).await.unwrap();
    h.chat.request_escalation(waiting.id).await.unwrap();
    h.chat
        .close(waiting.id, ClosedBy::Agent(colleague.id))
        .await
        .unwrap();
}

#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<(chatcore::RoomId, RoomStatus, SystemEvent)>>);

impl chatcore::RoomObserver for Recorder {
    fn room_event(&self, room: &chatcore::Room, event: &SystemEvent) {
        self.0.lock().unwrap().push((room.id, room.status, *event));
    }
}

#[tokio::test]
async fn observers_hear_each_lifecycle_event_once_after_it_is_stored() {
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::new(START);
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
        .clock(Arc::new(clock.clone()))
        .observer(recorder.clone())
        .build();
    chat.seed_default_rules().await.unwrap();
    let agent = staff(&chat, "ana").await;
    let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
    chat.post_visitor_message(room.id, "hello", None)
        .await
        .unwrap();
    assert!(
        recorder.0.lock().unwrap().is_empty(),
        "messages are not lifecycle events"
    );
    chat.post_visitor_message(room.id, "I want to talk to a human", None)
        .await
        .unwrap();
    // A second request while waiting changes nothing and reports nothing.
    chat.request_escalation(room.id).await.unwrap();
    chat.accept(room.id, agent.id).await.unwrap();
    assert!(chat.accept(room.id, agent.id).await.is_err());
    chat.close(room.id, ClosedBy::Agent(agent.id))
        .await
        .unwrap();
    chat.rate(room.id, 4).await.unwrap();
    let events: Vec<(RoomStatus, SystemEvent)> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(id, status, event)| {
            assert_eq!(*id, room.id);
            (*status, *event)
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                RoomStatus::WaitingForAgent,
                SystemEvent::EscalationRequested {
                    reason: EscalationReason::EscalationIntent
                }
            ),
            (
                RoomStatus::WithAgent,
                SystemEvent::AgentJoined { agent: agent.id }
            ),
            (
                RoomStatus::Closed,
                SystemEvent::Closed {
                    by: ClosedBy::Agent(agent.id)
                }
            ),
            (
                RoomStatus::Closed,
                SystemEvent::Rated {
                    rating: chatcore::Rating::new(4).unwrap()
                }
            ),
        ]
    );
    // The idle sweep reports the rooms it closed.
    let (idle, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    chat.close_idle_rooms().await.unwrap();
    let last = recorder.0.lock().unwrap().last().copied().unwrap();
    assert_eq!(
        last,
        (
            idle.id,
            RoomStatus::Closed,
            SystemEvent::Closed {
                by: ClosedBy::IdleTimeout
            }
        )
    );
}
