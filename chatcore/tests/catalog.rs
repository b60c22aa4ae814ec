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
];

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
    assert_eq!(report.fallbacks_before, report.fallbacks_after);
    assert_eq!(report.escalations_before, 2, "{report}");

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
            change.before.as_ref().unwrap().intent.as_str(),
            Intent::PRICING
        );
        assert_eq!(change.after.as_ref().unwrap().intent.as_str(), "insurance");
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
