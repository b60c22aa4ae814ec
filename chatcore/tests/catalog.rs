//! Catalog answers, follow-up questions, languages and what-if replay, end to end through
//! `ChatService` with the example catalog and a clock fixed on Thursday 2026-11-26, 12:00 UTC.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatcore::{
    BotExplanation, ChatConfig, ChatService, EntityKind, Error, Intent, ManualClock, MemoryCatalog,
    MemoryFanout, MemoryStore, Message, NewRule, OpenRoom, Quote, QuoteRequest, RentalCatalog,
    Room, RoomId, Timestamp, Transcript, VehicleClass,
};

/// Thursday 2026-11-26, 12:00 UTC. "This weekend" is 28-30 November, "next weekend" 5-7 December.
const NOW: Timestamp = Timestamp(1_795_694_400_000);

fn today() -> chrono::NaiveDate {
    NOW.to_datetime().date_naive()
}

async fn service(catalog: Option<Arc<dyn RentalCatalog>>, config: ChatConfig) -> ChatService {
    let mut builder =
        ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
            .clock(Arc::new(ManualClock::new(NOW)))
            .config(config);
    if let Some(catalog) = catalog {
        builder = builder.catalog(catalog);
    }
    let chat = builder.build();
    assert!(chat.seed_default_rules().await.unwrap());
    chat
}

async fn with_demo_catalog() -> ChatService {
    service(
        Some(Arc::new(MemoryCatalog::demo(today()))),
        ChatConfig::default(),
    )
    .await
}

/// Sends `text` and returns the bot's reply and the room afterwards.
async fn say(chat: &ChatService, room: RoomId, text: &str) -> (Message, Room) {
    let turn = chat.post_visitor_message(room, text, None).await.unwrap();
    (turn.bot_reply.expect("the bot answers"), turn.room)
}

async fn open(chat: &ChatService, language: Option<&str>) -> RoomId {
    let open = match language {
        Some(language) => OpenRoom::anonymous().language(language),
        None => OpenRoom::anonymous(),
    };
    chat.open_room(open).await.unwrap().0.id
}

fn intent(reply: &Message) -> Option<&str> {
    reply.explanation.as_ref()?.intent().map(Intent::as_str)
}

#[tokio::test]
async fn a_price_question_gets_the_catalogs_price_for_the_dates_asked() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    let (reply, room) = say(&chat, room, "How much is an SUV next weekend?").await;
    // Saturday and Sunday at $69 + 20 %.
    assert!(
        reply.text.contains("$165.60") && reply.text.contains("$82.80"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("SUV"), "{}", reply.text);
    assert_eq!(intent(&reply), Some(Intent::PRICING));
    assert!(matches!(
        reply.explanation,
        Some(BotExplanation::Matched(_))
    ));
    assert_eq!(room.context["vehicle_class"], "suv");
    assert_eq!(room.context["dates"], "2026-12-05/2026-12-07");
    assert_eq!(room.language.as_deref(), Some("en"));

    // The same class and dates on a weekday-only rental cost less: the numbers are the catalog's.
    let (reply, _) = say(
        &chat,
        room.id,
        "What does an economy car cost from 1 to 3 December?",
    )
    .await;
    assert!(reply.text.contains("$58.00"), "{}", reply.text);
}

#[tokio::test]
async fn an_availability_question_gets_the_catalogs_count() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    // Four of the six convertibles are booked from tomorrow to Sunday.
    let (reply, _) = say(&chat, room, "Any convertibles available tomorrow?").await;
    assert_eq!(intent(&reply), Some(Intent::AVAILABILITY));
    assert!(reply.text.contains(": 2."), "{}", reply.text);
    let (reply, _) = say(&chat, room, "Are convertibles available on 10 December?").await;
    assert!(reply.text.contains(": 6."), "{}", reply.text);
}

#[tokio::test]
async fn missing_details_are_asked_for_and_remembered() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    let (asked_class, _) = say(&chat, room, "How much does it cost?").await;
    assert!(
        asked_class.text.starts_with("Which kind of car"),
        "{}",
        asked_class.text
    );
    assert!(asked_class.text.contains("SUV") && asked_class.text.contains("convertible"));
    match &asked_class.explanation {
        Some(BotExplanation::FollowUp(f)) => {
            assert_eq!(f.asked, EntityKind::VehicleClass);
            assert_eq!(f.intent.as_str(), Intent::PRICING);
            assert!(f.matched.is_some(), "the question followed a keyword match");
        }
        other => panic!("expected a follow-up, got {other:?}"),
    }
    let (asked_dates, room_after) = say(&chat, room, "an SUV please").await;
    assert!(
        asked_dates.text.starts_with("For which dates"),
        "{}",
        asked_dates.text
    );
    assert!(matches!(
        &asked_dates.explanation,
        Some(BotExplanation::FollowUp(f)) if f.asked == EntityKind::Dates && f.matched.is_none()
    ));
    assert_eq!(room_after.context["vehicle_class"], "suv");
    let (answer, _) = say(&chat, room, "this weekend").await;
    assert!(
        matches!(&answer.explanation, Some(BotExplanation::Resumed(r)) if r.intent.as_str() == Intent::PRICING)
    );
    // Saturday 28 to Monday 30 November.
    assert!(answer.text.contains("$165.60"), "{}", answer.text);

    // The conversation stays on the topic: naming another class asks the same question again.
    let (again, _) = say(&chat, room, "and a convertible?").await;
    assert!(matches!(
        again.explanation,
        Some(BotExplanation::Resumed(_))
    ));
    assert!(again.text.contains("$213.60"), "{}", again.text);

    // Something unrelated is a fallback, and does not forget the topic.
    let (fallback, _) = say(&chat, room, "purple elephants").await;
    assert_eq!(fallback.explanation, Some(BotExplanation::Fallback));
    let (later, _) = say(&chat, room, "what about next week?").await;
    assert!(
        matches!(later.explanation, Some(BotExplanation::Resumed(_))),
        "{later:?}"
    );
}

#[tokio::test]
async fn without_a_catalog_rules_send_their_static_text() {
    let chat = service(None, ChatConfig::default()).await;
    let room = open(&chat, None).await;
    let (reply, room) = say(&chat, room, "How much is an SUV next weekend?").await;
    let rules = chat.rules().await.unwrap().rules;
    let pricing = rules
        .iter()
        .find(|r| r.intent.as_str() == Intent::PRICING && r.language == "en")
        .unwrap();
    assert_eq!(reply.text, pricing.response);
    // The room still remembers what was asked, for an agent or a catalog later.
    assert_eq!(room.context["vehicle_class"], "suv");
}

#[derive(Debug)]
struct BrokenCatalog {
    delay: Duration,
}

#[async_trait]
impl RentalCatalog for BrokenCatalog {
    async fn vehicle_classes(&self) -> chatcore::Result<Vec<VehicleClass>> {
        Ok(vec![VehicleClass::new("suv")?])
    }
    async fn quote(&self, _: &QuoteRequest) -> chatcore::Result<Option<Quote>> {
        tokio::time::sleep(self.delay).await;
        Err(Error::Backend {
            backend: "catalog",
            source: "the pricing service is down".into(),
        })
    }
    async fn availability(&self, _: &QuoteRequest) -> chatcore::Result<Option<u32>> {
        tokio::time::sleep(self.delay).await;
        Ok(Some(3))
    }
}

#[tokio::test]
async fn a_failing_or_slow_catalog_gives_the_static_text() {
    for delay in [Duration::ZERO, Duration::from_secs(5)] {
        let chat = service(
            Some(Arc::new(BrokenCatalog { delay })),
            ChatConfig::default().catalog_timeout(Duration::from_millis(50)),
        )
        .await;
        let room = open(&chat, None).await;
        let started = std::time::Instant::now();
        let (reply, _) = say(&chat, room, "How much is an SUV tomorrow?").await;
        assert!(started.elapsed() < Duration::from_secs(2), "{delay:?}");
        assert!(
            reply.text.starts_with("Our daily rates start at"),
            "{}",
            reply.text
        );
        let (reply, _) = say(&chat, room, "Any SUV available tomorrow?").await;
        if delay.is_zero() {
            assert!(reply.text.contains(": 3."), "{}", reply.text);
        } else {
            assert!(
                reply.text.starts_with("Availability depends"),
                "{}",
                reply.text
            );
        }
    }
}

#[tokio::test]
async fn a_class_the_catalog_does_not_offer_is_said_so() {
    let catalog = MemoryCatalog::new("EUR").offer(VehicleClass::new("suv").unwrap(), 5000, 3);
    let chat = service(Some(Arc::new(catalog)), ChatConfig::default()).await;
    let room = open(&chat, None).await;
    let (reply, _) = say(&chat, room, "How much is a pickup truck tomorrow?").await;
    assert!(
        reply.text.contains("we don't rent pickup"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("We have SUV."), "{}", reply.text);
}

#[tokio::test]
async fn spanish_and_french_visitors_get_answers_in_their_language() {
    let chat = with_demo_catalog().await;

    // A Spanish browser: the welcome is Spanish, and so are the answers.
    let (room, opening) = chat
        .open_room(OpenRoom::anonymous().language("es"))
        .await
        .unwrap();
    assert_eq!(opening[0].text, chat.config().texts_for(Some("es")).welcome);
    let (reply, after) = say(
        &chat,
        room.id,
        "¿Cuánto cuesta un SUV el próximo fin de semana?",
    )
    .await;
    assert!(reply.text.contains("165,60 $"), "{}", reply.text);
    assert_eq!(after.language.as_deref(), Some("es"));
    let (hello, _) = say(&chat, room.id, "hola").await;
    assert_eq!(intent(&hello), Some(Intent::GREETING));
    let spanish_greeting = rule_response(&chat, Intent::GREETING, "es").await;
    assert_eq!(hello.text, spanish_greeting);

    // No language from the browser: French keywords make the room French.
    let room = open(&chat, None).await;
    let (reply, after) = say(&chat, room, "Combien coûte un SUV le week-end prochain ?").await;
    assert!(reply.text.contains("165,60 $"), "{}", reply.text);
    assert_eq!(after.language.as_deref(), Some("fr"));
    let (fallback, _) = say(&chat, room, "zzz").await;
    assert_eq!(fallback.text, chat.config().texts_for(Some("fr")).fallback);

    // A French follow-up question, answered in French.
    let room = open(&chat, Some("fr")).await;
    let (question, _) = say(&chat, room, "Quel est le prix ?").await;
    assert!(matches!(
        question.explanation,
        Some(BotExplanation::FollowUp(_))
    ));
    assert!(question.text.starts_with(
        chat.config()
            .texts_for(Some("fr"))
            .ask_vehicle_class
            .split('{')
            .next()
            .unwrap()
    ));

    // An English browser whose visitor writes Spanish is answered in Spanish.
    let room = open(&chat, Some("en")).await;
    let (reply, after) = say(&chat, room, "necesito hablar con una persona").await;
    assert_eq!(intent(&reply), Some(Intent::ESCALATION));
    assert_eq!(after.language.as_deref(), Some("es"));
    assert_eq!(
        reply.text,
        rule_response(&chat, Intent::ESCALATION, "es").await
    );
}

async fn rule_response(chat: &ChatService, intent: &str, language: &str) -> String {
    chat.rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .find(|r| r.intent.as_str() == intent && r.language == language)
        .unwrap()
        .response
}

/// Messages of a few conversations: matches, fallbacks, follow-ups, escalations.
const CONVERSATIONS: &[&[&str]] = &[
    &[
        "hello",
        "How much is an SUV next weekend?",
        "and a convertible?",
        "thanks, bye",
    ],
    &[
        "Do you include insurance?",
        "what is the deposit?",
        "I want to talk to a human",
    ],
    &[
        "How much does it cost?",
        "an SUV",
        "tomorrow",
        "is there an excess on insurance?",
    ],
    &["blue moon", "green cheese", "more nonsense"],
    &["¿Cuánto cuesta un coche?", "un SUV", "mañana"],
    &["Bonjour", "Je voudrais réserver une voiture"],
    // Follow-up questions between fallbacks: the questions break the streak, so no escalation.
    &[
        "How much does it cost?",
        "xyzzy",
        "an SUV",
        "plugh",
        "this weekend",
    ],
    // Dates in the past and a rental too long are asked again.
    &[
        "How much is an SUV on 2020-01-01?",
        "from 2026-12-01 to 2027-12-01",
        "next week",
    ],
];

/// What the service stored: fallback replies, and rooms the bot escalated (not the visitor).
fn stored_outcomes(chat_messages: &[Vec<Message>]) -> (usize, usize) {
    let fallbacks = chat_messages
        .iter()
        .flatten()
        .filter(|m| m.explanation == Some(BotExplanation::Fallback))
        .count();
    let escalated = chat_messages
        .iter()
        .filter(|messages| {
            messages.iter().any(|m| {
                matches!(
                    m.event,
                    Some(chatcore::SystemEvent::EscalationRequested { reason })
                        if reason != chatcore::EscalationReason::Requested
                )
            })
        })
        .count();
    (fallbacks, escalated)
}

async fn play_conversations(chat: &ChatService) -> Vec<Transcript> {
    let mut transcripts = Vec::new();
    for conversation in CONVERSATIONS {
        let room = open(chat, None).await;
        for text in *conversation {
            chat.post_visitor_message(room, text, None).await.unwrap();
        }
        let messages = chat.history(room, 0, 500).await.unwrap();
        transcripts.push(Transcript::from_messages(room.to_string(), &messages));
    }
    transcripts
}

#[tokio::test]
async fn replaying_with_the_current_rules_reproduces_every_stored_explanation() {
    let chat = with_demo_catalog().await;
    // A gap in the rule ids: a list of rules (a rules file) numbers them differently, and replaying
    // the same rules must still change nothing.
    let gone = chat
        .create_rule(NewRule::new(
            Intent::new("gone").unwrap(),
            ["zebra"],
            "z",
            1,
        ))
        .await
        .unwrap();
    chat.delete_rule(gone.id).await.unwrap();
    chat.create_rule(NewRule::new(
        Intent::new("roadside").unwrap(),
        ["flat battery"],
        "Call +1 555 0199.",
        65,
    ))
    .await
    .unwrap();
    let transcripts = play_conversations(&chat).await;
    let current: Vec<NewRule> = chat
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .map(NewRule::from)
        .collect();
    let report = chat.what_if(current, &transcripts).await.unwrap();
    // Messages after an escalation went to an agent, not the bot: they are not replayed.
    let answered: usize = transcripts.iter().map(|t| t.messages.len()).sum();
    assert_eq!(report.messages, answered);
    assert!(answered >= 15, "{answered}");
    assert_eq!(report.stored_mismatches, 0, "{report}");
    assert!(report.changed.is_empty(), "{report}");
    // The replay's fallbacks and escalations are the ones that happened.
    let mut histories = Vec::new();
    for transcript in &transcripts {
        let room: RoomId = transcript.room.parse().unwrap();
        histories.push(chat.history(room, 0, 500).await.unwrap());
    }
    let (fallbacks, escalated) = stored_outcomes(&histories);
    assert_eq!(
        (report.fallbacks_before, report.escalations_before),
        (fallbacks, escalated),
        "{report}"
    );
    assert_eq!(escalated, 2, "the human request and the nonsense");
    assert!(fallbacks >= 2, "the nonsense");
    assert_eq!(report.fallbacks_before, report.fallbacks_after);
    assert_eq!((report.to_agent_before, report.to_agent_after), (0, 0));
    // Follow-up questions and their answers are part of what was reproduced.
    let kinds: Vec<&str> = histories
        .iter()
        .flatten()
        .filter_map(|m| match &m.explanation {
            Some(BotExplanation::FollowUp(_)) => Some("follow_up"),
            Some(BotExplanation::Resumed(_)) => Some("resumed"),
            _ => None,
        })
        .collect();
    assert!(
        kinds.contains(&"follow_up") && kinds.contains(&"resumed"),
        "{kinds:?}"
    );

    // The same transcripts from the store and from a JSONL export give the same report.
    let from_store = chat
        .transcripts(NOW.minus(Duration::from_secs(60)), 100)
        .await
        .unwrap();
    assert_eq!(from_store.len(), CONVERSATIONS.len());
    let mut jsonl = String::new();
    for transcript in &from_store {
        let room: RoomId = transcript.room.parse().unwrap();
        for message in chat.history(room, 0, 500).await.unwrap() {
            jsonl.push_str(&serde_json::to_string(&message).unwrap());
            jsonl.push('\n');
        }
    }
    let from_file = Transcript::from_jsonl(Cursor::new(jsonl)).unwrap();
    let rules: Vec<NewRule> = chat
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .map(NewRule::from)
        .collect();
    assert_eq!(
        chat.what_if(rules.clone(), &from_store).await.unwrap(),
        chat.what_if(rules, &from_file).await.unwrap()
    );
}

#[tokio::test]
async fn a_rule_that_steals_matches_is_reported_with_the_messages() {
    let chat = with_demo_catalog().await;
    let transcripts = play_conversations(&chat).await;
    // A new "insurance" intent above pricing takes every message that mentions insurance.
    let insurance = NewRule::new(
        Intent::new("insurance").unwrap(),
        ["insurance", "excess"],
        "Basic insurance is included; full cover is $15 a day.",
        90,
    );
    let report = chat
        .what_if_draft(insurance, None, &transcripts)
        .await
        .unwrap();
    let stolen: Vec<&str> = report
        .changed
        .iter()
        .filter(|c| c.intent_changed())
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        stolen,
        [
            "Do you include insurance?",
            "is there an excess on insurance?"
        ],
        "{report}"
    );
    for change in &report.changed {
        assert_eq!(
            change.before.intent.as_ref().unwrap().as_str(),
            Intent::PRICING
        );
        assert_eq!(change.after.intent.as_ref().unwrap().as_str(), "insurance");
    }
    let by_intent = |name: &str| {
        report
            .intents
            .iter()
            .find(|i| i.intent.as_ref().map(Intent::as_str) == Some(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (by_intent("insurance").gained, by_intent("insurance").after),
        (2, 2)
    );
    assert_eq!(by_intent(Intent::PRICING).lost, 2);
    assert!(report.to_string().contains("Do you include insurance?"));

    // Dropping the English escalation rule: the chat that asked for a human is no longer escalated
    // by the bot, and its message becomes a fallback.
    let rules: Vec<NewRule> = chat
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .filter(|r| !(r.intent.is_escalation() && r.language == "en"))
        .map(NewRule::from)
        .collect();
    let report = chat.what_if(rules, &transcripts).await.unwrap();
    assert_eq!(
        (report.escalations_before, report.escalations_after),
        (2, 1),
        "{report}"
    );
    assert_eq!(report.fallbacks_after, report.fallbacks_before + 1);
    let human = report
        .changed
        .iter()
        .find(|c| c.text == "I want to talk to a human")
        .unwrap();
    assert_eq!(
        (human.before.kind, human.after.kind),
        (
            chatcore::replay::AnswerKind::Matched,
            chatcore::replay::AnswerKind::Fallback
        )
    );

    // New words for the catalog answer: the same rule answers, but the replies read differently.
    let pricing = chat
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .find(|r| r.intent.as_str() == Intent::PRICING && r.language == "en")
        .unwrap();
    let id = pricing.id;
    let reworded = NewRule::from(pricing).catalog_response("{vehicle_class}: {total_price}.");
    let report = chat
        .what_if_draft(reworded, Some(id), &transcripts)
        .await
        .unwrap();
    let texts: Vec<&str> = report
        .changed
        .iter()
        .filter(|c| c.reworded)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        texts.contains(&"How much is an SUV next weekend?"),
        "{report}"
    );
    assert_eq!(report.intent_changes(), 0, "{report}");
    assert!(report.to_string().contains("in new words"), "{report}");

    // A bad proposal is refused, naming the rule; nothing is saved.
    let version = chat.rules().await.unwrap().version;
    let bad = vec![NewRule::new(
        Intent::new("x").unwrap(),
        Vec::<String>::new(),
        "r",
        1,
    )];
    assert!(matches!(
        chat.what_if(bad, &transcripts).await,
        Err(Error::InvalidRule { .. })
    ));
    assert_eq!(chat.rules().await.unwrap().version, version);
}

#[tokio::test]
async fn transcripts_files_name_their_bad_line() {
    let bad = "{\"room\": \"a\", \"text\": \"hi\"}\n\nnot json\n";
    let error = Transcript::from_jsonl(Cursor::new(bad)).unwrap_err();
    assert!(error.to_string().contains("line 3"), "{error}");
    let plain = "{\"room\": \"a\", \"text\": \"hi\"}\n{\"room\": \"b\", \"text\": \"price?\"}\n{\"room\": \"a\", \"text\": \"bye\"}\n";
    let transcripts = Transcript::from_jsonl(Cursor::new(plain)).unwrap();
    assert_eq!(transcripts.len(), 2);
    assert_eq!(transcripts[0].messages.len(), 2);
}

#[tokio::test]
async fn an_earlier_escalation_sends_later_messages_to_an_agent_in_the_replay() {
    let chat = with_demo_catalog().await;
    let transcripts = play_conversations(&chat).await;
    // "blue" as an escalation keyword: "blue moon" now hands the chat over at once, and the next
    // message ("green cheese") would reach an agent.
    let mut rules: Vec<NewRule> = chat
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .map(NewRule::from)
        .collect();
    let escalation = rules
        .iter_mut()
        .find(|r| r.intent.is_escalation() && r.language == "en")
        .unwrap();
    escalation.keywords.push("blue".into());
    let report = chat.what_if(rules, &transcripts).await.unwrap();
    assert_eq!(
        (report.to_agent_before, report.to_agent_after),
        (0, 1),
        "{report}"
    );
    assert_eq!(
        report.escalations_before, report.escalations_after,
        "{report}"
    );
    let green = report
        .changed
        .iter()
        .find(|c| c.text == "green cheese")
        .unwrap();
    assert_eq!(green.after.kind, chatcore::replay::AnswerKind::Agent);
    assert_eq!(report.fallbacks_after, report.fallbacks_before - 2);
}

#[tokio::test]
async fn past_and_overlong_dates_are_asked_again() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    let (reply, after) = say(&chat, room, "How much is an SUV next weekend?").await;
    assert!(reply.text.contains("$165.60"));
    assert!(after.context.contains_key("dates"));
    // Naming passed dates forgets the earlier ones instead of quietly answering for them.
    let (reply, after) = say(&chat, room, "and on 2020-01-01?").await;
    assert!(
        reply
            .text
            .starts_with("Those dates have already passed. For which dates?"),
        "{}",
        reply.text
    );
    assert!(!after.context.contains_key("dates"));
    let (reply, _) = say(&chat, room, "from 2026-12-01 to 2027-12-01").await;
    assert!(
        reply
            .text
            .starts_with("I can quote rentals of up to 90 days here"),
        "{}",
        reply.text
    );
    assert!(matches!(
        &reply.explanation,
        Some(BotExplanation::FollowUp(f)) if f.asked == EntityKind::Dates
    ));
    let (reply, _) = say(&chat, room, "from 3 to 7 December").await;
    assert!(
        reply
            .text
            .starts_with("Our SUV rate for Thu 3 Dec to Mon 7 Dec 2026"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn borrowed_greetings_keep_the_rooms_language() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, Some("es")).await;
    let (reply, after) = say(&chat, room, "hello").await;
    assert_eq!(
        reply.text,
        rule_response(&chat, Intent::GREETING, "es").await
    );
    assert_eq!(after.language.as_deref(), Some("es"));
    let (reply, after) = say(&chat, room, "ok thanks").await;
    assert_eq!(
        reply.text,
        rule_response(&chat, Intent::GOODBYE, "es").await
    );
    assert_eq!(after.language.as_deref(), Some("es"));
    // A real question in English does switch.
    let (_, after) = say(&chat, room, "How much is an SUV tomorrow?").await;
    assert_eq!(after.language.as_deref(), Some("en"));
    // Tags are compared without regard to case.
    let room = open(&chat, Some("FR-ca")).await;
    let opening = chat.history(room, 0, 1).await.unwrap();
    assert_eq!(opening[0].text, chat.config().texts_for(Some("fr")).welcome);
}

/// A catalog that records what it is asked and answers slowly.
#[derive(Debug, Default)]
struct SlowCatalog {
    delay: Duration,
    classes_fail: bool,
    asked: std::sync::Mutex<Vec<QuoteRequest>>,
}

#[async_trait]
impl RentalCatalog for SlowCatalog {
    async fn vehicle_classes(&self) -> chatcore::Result<Vec<VehicleClass>> {
        if self.classes_fail {
            return Err(Error::Backend {
                backend: "catalog",
                source: "down".into(),
            });
        }
        Ok(vec![VehicleClass::new("suv")?])
    }
    async fn quote(&self, request: &QuoteRequest) -> chatcore::Result<Option<Quote>> {
        self.asked.lock().unwrap().push(request.clone());
        tokio::time::sleep(self.delay).await;
        Ok(Some(Quote::new(
            chatcore::Price::new(1000, "EUR"),
            chatcore::Price::new(2000, "EUR"),
        )))
    }
    async fn availability(&self, _: &QuoteRequest) -> chatcore::Result<Option<u32>> {
        tokio::time::sleep(self.delay).await;
        Ok(Some(1))
    }
}

#[tokio::test]
async fn the_bot_keeps_what_the_host_set_meanwhile_and_passes_the_location() {
    let catalog = Arc::new(SlowCatalog {
        delay: Duration::from_millis(300),
        ..SlowCatalog::default()
    });
    let chat = service(Some(catalog.clone()), ChatConfig::default()).await;
    let room = open(&chat, None).await;
    let mut host = std::collections::BTreeMap::new();
    host.insert("location".to_owned(), "LAX".to_owned());
    chat.set_room_context(room, None, host).await.unwrap();
    let answering = {
        let chat = chat.clone();
        tokio::spawn(async move { say(&chat, room, "How much is an SUV tomorrow?").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The host changes the context while the bot waits for the catalog.
    let mut host = chat.room(room).await.unwrap().context;
    host.insert("customer_tier".to_owned(), "gold".to_owned());
    chat.set_room_context(room, None, host).await.unwrap();
    let (reply, after) = answering.await.unwrap();
    assert!(reply.text.contains("€20.00"), "{}", reply.text);
    assert_eq!(
        after.context["customer_tier"], "gold",
        "{:?}",
        after.context
    );
    assert_eq!(after.context["location"], "LAX");
    assert_eq!(after.context["vehicle_class"], "suv");
    assert_eq!(chat.room(room).await.unwrap(), after);
    let asked = catalog.asked.lock().unwrap().clone();
    assert_eq!(asked[0].location.as_deref(), Some("LAX"));
}

#[tokio::test]
async fn the_catalog_timeout_bounds_the_whole_reply() {
    let catalog = Arc::new(SlowCatalog {
        delay: Duration::from_millis(300),
        classes_fail: true,
        ..SlowCatalog::default()
    });
    let config = ChatConfig::default().catalog_timeout(Duration::from_millis(450));
    let chat = service(Some(catalog), config).await;
    let rules = chat.rules().await.unwrap().rules;
    let pricing = rules
        .iter()
        .find(|r| r.intent.as_str() == Intent::PRICING && r.language == "en")
        .unwrap();
    // Both a quote and an availability check: 600 ms of catalog calls for a 450 ms budget.
    let both =
        NewRule::from(pricing.clone()).catalog_response("{total_price}, {available_count} free");
    chat.update_rule(pricing.id, both).await.unwrap();
    let room = open(&chat, None).await;
    let started = std::time::Instant::now();
    let (reply, _) = say(&chat, room, "How much is an SUV tomorrow?").await;
    assert!(
        started.elapsed() < Duration::from_millis(580),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.text, pricing.response);
    // A catalog that cannot list its classes: the question goes out without the list.
    let room = open(&chat, None).await;
    let (reply, _) = say(&chat, room, "How much does it cost?").await;
    assert_eq!(reply.text, "Which kind of car would you like?");
}

#[tokio::test]
async fn today_is_the_rental_desks_day_and_context_is_shared_by_instances() {
    // 23:30 UTC on Thursday 26 November is already Friday at UTC+1.
    let late = Timestamp(NOW.0 + (11 * 3600 + 1800) * 1000);
    let store: Arc<dyn chatcore::MessageStore> = Arc::new(MemoryStore::new());
    let instance = |offset: i32| {
        ChatService::builder(store.clone(), Arc::new(MemoryFanout::new()))
            .clock(Arc::new(ManualClock::new(late)))
            .config(ChatConfig::default().utc_offset_minutes(offset))
            .catalog(Arc::new(MemoryCatalog::demo(today())))
            .build()
    };
    let (a, b) = (instance(60), instance(60));
    a.seed_default_rules().await.unwrap();
    let room = a.open_room(OpenRoom::anonymous()).await.unwrap().0.id;
    let (question, _) = say(&a, room, "How much is a sedan?").await;
    assert!(question.text.starts_with("For which dates?"));
    // The answer reaches the other instance, which remembers the question.
    let (answer, after) = say(&b, room, "tomorrow").await;
    assert!(matches!(
        answer.explanation,
        Some(BotExplanation::Resumed(_))
    ));
    assert_eq!(
        after.context["dates"], "2026-11-28/2026-11-29",
        "Saturday at UTC+1"
    );
    assert!(answer.text.contains("Sat 28 Nov 2026"), "{}", answer.text);
}

#[tokio::test]
async fn a_question_is_asked_once_then_the_general_answer_follows() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    let (question, _) = say(&chat, room, "How much is an SUV?").await;
    assert!(
        question.text.starts_with("For which dates?"),
        "{}",
        question.text
    );
    // No dates in the reply: the general prices, not the same question again, and no fallback.
    let (general, _) = say(&chat, room, "not sure yet").await;
    assert!(
        general.text.starts_with("Our daily rates start at"),
        "{}",
        general.text
    );
    assert!(matches!(
        general.explanation,
        Some(BotExplanation::Resumed(_))
    ));
    let (fallback, after) = say(&chat, room, "hmm").await;
    assert_eq!(fallback.explanation, Some(BotExplanation::Fallback));
    assert_eq!(
        after.status,
        chatcore::RoomStatus::Bot,
        "one fallback does not escalate"
    );
    // The topic is still there: dates now get the SUV quote.
    let (quote, _) = say(&chat, room, "next weekend then").await;
    assert!(quote.text.contains("$165.60"), "{}", quote.text);
}

#[tokio::test]
async fn politeness_does_not_interrupt_the_topic() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    let (question, _) = say(&chat, room, "How much does it cost?").await;
    assert!(question.text.starts_with("Which kind of car"));
    // "ok" alone is an acknowledgement; "ok, an SUV" answers the question.
    let (asked_dates, _) = say(&chat, room, "ok, an SUV please").await;
    assert!(
        asked_dates.text.starts_with("For which dates?"),
        "{}",
        asked_dates.text
    );
    let (quote, _) = say(&chat, room, "great, this weekend").await;
    assert!(quote.text.contains("$165.60"), "{}", quote.text);
    // A static answer in between (the phone number) keeps the topic.
    let (contact, _) = say(&chat, room, "what is your phone number?").await;
    assert_eq!(intent(&contact), Some(Intent::CONTACT));
    let (again, _) = say(&chat, room, "and a convertible?").await;
    assert!(again.text.contains("$213.60"), "{}", again.text);
    let (thanks, _) = say(&chat, room, "ok").await;
    assert_eq!(intent(&thanks), Some(Intent::GOODBYE));
    // Policy questions get the policy answer, not a question about the car.
    for text in [
        "Can I pay with PayPal?",
        "How much is the deposit?",
        "Is there a young driver surcharge?",
    ] {
        let (policy, _) = say(&chat, room, text).await;
        assert!(
            matches!(policy.explanation, Some(BotExplanation::Matched(_))),
            "{text}"
        );
        assert!(policy.text.contains("deposit"), "{text}: {}", policy.text);
    }
}

#[tokio::test]
async fn rental_lengths_set_or_change_the_dates() {
    let chat = with_demo_catalog().await;
    let room = open(&chat, None).await;
    // Tuesday 1 to Friday 11 December: 8 weekdays at $29, 2 weekend days at $34.80, 15 % off.
    let (reply, after) = say(
        &chat,
        room,
        "How much is an economy car for 10 days from 1 December?",
    )
    .await;
    assert_eq!(after.context["dates"], "2026-12-01/2026-12-11");
    assert!(reply.text.contains("$256.36"), "{}", reply.text);
    // A new length for the same start.
    let (reply, after) = say(&chat, room, "and for 3 days?").await;
    assert_eq!(after.context["dates"], "2026-12-01/2026-12-04");
    assert!(reply.text.contains("$87.00"), "{}", reply.text);
}
