//! Shared printing helpers for the runnable examples in `examples/examples/`.
//!
//! Run any example with `cargo run -p examples --example NAME`; each file's doc comment gives its
//! exact command.
//!
//! | example | what it shows | run it |
//! |---|---|---|
//! | `quickstart` | the whole chat flow in memory: the bot, escalation, an agent, close, rating, analytics | `cargo run -p examples --example quickstart` |
//! | `custom_store` | a [`MessageStore`](chatcore::MessageStore) of your own ([`vec_store::VecStore`]) under a `ChatService` | `cargo run -p examples --example custom_store` |
//! | `custom_matcher` | a [`BotMatcher`](chatcore::BotMatcher) of your own: a classifier first, the keyword matcher when it is unsure | `cargo run -p examples --example custom_matcher` |
//! | `embed_axum` | an axum app of your own that mounts the visitor chat (page, WebSocket, widget) and gives its staff an agent API behind its own login ([`embed_axum`]) | `cargo run -p examples --example embed_axum` |
//! | `rental_catalog` | a [`RentalCatalog`](chatcore::RentalCatalog) over your own fleet table: prices, availability, follow-up questions, Spanish | `cargo run -p examples --example rental_catalog` |
//!
//! [`vec_store::VecStore`] passes chatcore's whole store conformance suite:
//! `cargo test -p examples --test vec_store_conformance`.

pub mod embed_axum;
pub mod vec_store;

use chatcore::{Analytics, BotExplanation, EntityKind, Message, Sender};

/// Prints one message as a transcript line, with the bot's reason in brackets.
pub fn print_message(message: &Message) {
    let who = match message.sender {
        Sender::Visitor => "visitor".to_owned(),
        Sender::Bot => "bot".to_owned(),
        Sender::Agent(id) => format!("agent {id}"),
        Sender::System => "system".to_owned(),
    };
    let why = match &message.explanation {
        Some(BotExplanation::Matched(m)) => {
            format!(
                "  [intent {}, keyword {:?}, rule {}]",
                m.intent, m.keyword, m.rule_id
            )
        }
        Some(BotExplanation::FollowUp(f)) => {
            let asked = match f.asked {
                EntityKind::VehicleClass => "the vehicle class",
                EntityKind::Dates => "the dates",
                _ => "more",
            };
            let keyword = f
                .matched
                .as_ref()
                .map_or(String::new(), |m| format!(", keyword {:?}", m.keyword));
            format!(
                "  [intent {}{keyword}, rule {}, asks for {asked}]",
                f.intent, f.rule_id
            )
        }
        Some(BotExplanation::Resumed(r)) => {
            format!("  [intent {}, rule {}, resumed]", r.intent, r.rule_id)
        }
        Some(BotExplanation::Fallback) => "  [fallback]".to_owned(),
        Some(BotExplanation::Welcome) => "  [welcome]".to_owned(),
        Some(_) | None => String::new(),
    };
    println!("#{:<3} {:>9}: {}{}", message.seq, who, message.text, why);
}

/// Prints the analytics figures.
pub fn print_analytics(analytics: &Analytics) {
    let percent = |r: Option<f64>| r.map_or("n/a".to_owned(), |r| format!("{:.0} %", r * 100.0));
    let number = |r: Option<f64>| r.map_or("n/a".to_owned(), |r| format!("{r:.1}"));
    println!("Analytics");
    println!("  total sessions           {}", analytics.total_sessions);
    println!(
        "  active conversations     {}",
        analytics.active_conversations
    );
    println!(
        "  pending escalations      {}",
        analytics.pending_escalations
    );
    println!(
        "  bot resolution rate      {}",
        percent(analytics.bot_resolution_rate)
    );
    println!(
        "  escalation rate          {}",
        percent(analytics.escalation_rate)
    );
    println!(
        "  messages per chat        {}",
        number(analytics.average_messages_per_chat)
    );
    println!(
        "  first agent reply (s)    {}",
        number(analytics.average_first_reply_secs)
    );
    println!(
        "  average rating           {}",
        number(analytics.average_rating)
    );
    println!("  daily activity (rooms / messages):");
    for day in &analytics.daily_activity {
        println!("    {}  {:>3} / {:>3}", day.date, day.rooms, day.messages);
    }
}
