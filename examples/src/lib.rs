//! Shared printing helpers for the runnable examples in `examples/examples/`.
//!
//! Run any example with `cargo run -p examples --example NAME`; each file's doc comment gives its
//! exact command.

use chatcore::{Analytics, BotExplanation, Message, Sender};

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
